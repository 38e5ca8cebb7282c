"""Sphinx configuration. Built with -W in CI, so a warning is an error."""

import os
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django


django.setup()

import email_hosts


project = "django-email-hosts"
author = "The django-email-hosts developers"
copyright = "2026, the django-email-hosts developers"
release = email_hosts.__version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_static_path = ["_static"]
html_theme = "alabaster"
