"""The one exception the bench raises for a run it cannot complete."""


class BenchError(Exception):
    """A server would not start, a worker failed or went silent: the run is unusable."""
