"""
How mail is routed by its sender, in one place: ``table.py`` decides which
host serves each sender domain and which hosts back it up; ``backend.py``
delivers through them as ``RoutingBackend``.
"""

from email_hosts.routing.backend import RoutingBackend


__all__ = ["RoutingBackend"]
