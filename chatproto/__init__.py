"""chatproto: a chat room over TCP, built on Twisted."""

__version__ = "0.1.0"
