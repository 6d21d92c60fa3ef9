"""Errors a user can fix: they carry a one-line message naming the setting or file at fault."""


class UserError(Exception):
    """Bad input from the user; the CLI prints the message alone and exits with status 2."""


class ConfigError(UserError):
    """A configuration value is invalid."""


class DataError(UserError):
    """A data file or directory is missing or unreadable."""
