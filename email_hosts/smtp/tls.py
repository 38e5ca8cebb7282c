"""
TLS contexts for relays: one per distinct configuration and process, shared
by every backend, because loading the system's CA bundle costs tens of
milliseconds, more than the rest of a send on a nearby relay.
"""

import functools
import os
import ssl


def client_context(*, cafile="", certfile="", keyfile=""):
    """
    Return the shared ``SSLContext`` for a relay that is verified against
    ``cafile`` (or the system's CA bundle) and that is shown the client
    certificate ``certfile`` with ``keyfile``.

    The relay's certificate and host name are always verified. A file that
    is replaced on disk (a renewed certificate, an updated bundle) gets a
    new context.
    """
    system = ssl.get_default_verify_paths()  # Honours SSL_CERT_FILE and _DIR.
    bundle = cafile or system.cafile or ""
    files = (bundle, certfile, keyfile)
    return _context(cafile, certfile, keyfile, files, system.capath, _versions(files))


def _versions(paths):
    """Return what tells two versions of each file apart: size and mtime."""
    versions = []
    for path in paths:
        try:
            stat = os.stat(path) if path else None
        except OSError:
            stat = None  # Loading it raises, naming the file.
        versions.append(stat and (stat.st_size, stat.st_mtime_ns))
    return tuple(versions)


@functools.lru_cache(maxsize=32)
def _context(cafile, certfile, keyfile, _files, _capath, _versions):
    # Django's own context with a client certificate trusts no CA at all, so
    # it could verify no relay; this one keeps the default checks.
    context = ssl.create_default_context(cafile=cafile or None)
    if certfile:
        context.load_cert_chain(certfile, keyfile or None)
    return context
