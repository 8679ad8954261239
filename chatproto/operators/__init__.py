"""
Who may moderate: the operators file, its password hashes, the
C{twisted.cred} checker over it, and the per-connection attempt limiter.
"""
