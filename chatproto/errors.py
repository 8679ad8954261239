"""
The one error the chat domain raises.
"""


class ChatError(Exception):
    """
    A request was refused.  Front ends turn it into one error reply, e.g. the
    line protocol's C{ERROR <code> <reason>}.

    @ivar code: a short machine-readable word such as C{nick-taken}.
    @ivar reason: a sentence for people.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
