# settings.py, while rotating: the new key first, the old one after it.
import os


FERNET_KEYS = [os.environ["NEW_FERNET_KEY"], os.environ["OLD_FERNET_KEY"]]
