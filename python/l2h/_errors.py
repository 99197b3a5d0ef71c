"""Library status codes -> Python exceptions carrying l2h_last_error()'s message."""
import errno as _errno
import os as _os

from ._l2h_cffi import ffi, lib


class Error(Exception):
    """Base class of every exception raised for a failed library call.

    Attributes: ``status`` (the library's status name, e.g. ``"L2H_ERR_FORMAT"``) and
    ``message`` (``l2h_last_error()``: names the file and the problem)."""

    def __init__(self, message, status="", filename=None):
        super().__init__(message)
        self.message = message
        self.status = status
        if filename is not None:
            self.filename = filename

    def __str__(self):
        return self.message


class ArgumentError(Error, ValueError):
    """L2H_ERR_ARG: an invalid argument or a shape mismatch."""


class NumericError(Error, ValueError):
    """L2H_ERR_NUMERIC: NaN or Inf in data, loss or parameters."""


class FormatError(Error, ValueError):
    """L2H_ERR_FORMAT / L2H_ERR_VERSION: a malformed, truncated, corrupt or too-new file."""


class UnsupportedError(Error, ValueError):
    """L2H_ERR_UNSUPPORTED: a valid request this build cannot serve."""


class StateError(Error, RuntimeError):
    """L2H_ERR_STATE: the call is not valid now (e.g. training cancelled)."""


class LibraryMemoryError(Error, MemoryError):
    """L2H_ERR_NOMEM: an allocation failed."""


class LibraryOSError(Error, OSError):
    """L2H_ERR_IO: open/read/write failed; ``filename`` is the file, ``errno`` is set when the
    message carries a recognisable strerror text."""

    def __init__(self, message, status="", filename=None):
        Error.__init__(self, message, status, filename)
        self.filename = filename
        self.strerror = message
        self.errno = None
        for code in (_errno.ENOENT, _errno.EACCES, _errno.EISDIR, _errno.ENOTDIR, _errno.ENOSPC,
                     _errno.EROFS, _errno.EEXIST):
            if _os.strerror(code) in message:
                self.errno = code
                break


_CLASSES = {
    lib.L2H_ERR_NOMEM: LibraryMemoryError,
    lib.L2H_ERR_ARG: ArgumentError,
    lib.L2H_ERR_STATE: StateError,
    lib.L2H_ERR_IO: LibraryOSError,
    lib.L2H_ERR_FORMAT: FormatError,
    lib.L2H_ERR_VERSION: FormatError,
    lib.L2H_ERR_UNSUPPORTED: UnsupportedError,
    lib.L2H_ERR_NUMERIC: NumericError,
}


def last_error():
    """``l2h_last_error()``: detail of the last failure on this thread ("" if none)."""
    return ffi.string(lib.l2h_last_error()).decode("utf-8", "replace")


def check(status, what="", filename=None):
    """Raises the exception of a failed status (call right after the library call: the message
    is thread-local and valid until the next l2h call on this thread)."""
    if status == lib.L2H_OK:
        return
    msg = last_error()
    name = ffi.string(lib.l2h_status_str(status)).decode()
    if not msg:
        msg = name
    if what:
        msg = f"{what}: {msg}"
    cls = _CLASSES.get(status, Error)
    if cls is LibraryOSError or filename is not None:
        if cls is LibraryOSError:
            raise LibraryOSError(msg, name, filename)
        raise cls(msg, name, filename)
    raise cls(msg, name)
