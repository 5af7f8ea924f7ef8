"""The study's own errors: their messages already say what is wrong and where."""


class StudyError(Exception):
    """An error reported to the user as one line, without a traceback."""


class DataError(StudyError):
    """A data file or download is missing, corrupt or not what it claims to be."""


class ArchitectureError(StudyError, ValueError):
    """A variant that cannot be built."""
