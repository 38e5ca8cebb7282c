"""
How a message goes out over SMTP: connections that pipeline and report
what the relay accepted (``connections``, ``pipelining``), TLS contexts
(``tls``), kept connections (``pool``) and what a failure means
(``failures``).
"""
