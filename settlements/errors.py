"""Errors a user can act on: the message is one line that says what is wrong and what to do."""


class InputError(Exception):
    """Input or setup the run cannot use (an unreadable file, a missing table, a missing key).

    Entry points print the message as one line and exit with code 2, without a traceback.
    """
