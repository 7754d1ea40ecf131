"""The errors a person can meet. Each message is one sentence that says what to do."""


class AtelierError(Exception):
    """Base of every error shown to a person as-is."""


class BadInput(AtelierError, ValueError):
    """A request the server refuses: an empty prompt, a number out of range, a broken picture."""


class UnknownModel(AtelierError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class InvalidRegistry(AtelierError):
    """registry.toml (or an entry in it) is not valid."""


class ModelUnavailable(AtelierError):
    """The model's files are not on this machine and cannot be fetched now."""


class UnsafeCheckpoint(AtelierError):
    """The repository offers no safetensors weights; Atelier never loads pickles."""


class BrokenCheckpoint(AtelierError):
    """The files are there but do not load."""


class OutOfMemory(AtelierError):
    """The model does not fit in the memory budget even after unloading the others."""


class Cancelled(AtelierError):
    """The person stopped the run."""
