"""Implementation of :mod:`helpers.train`, one concern per module (import from ``helpers.train``)."""
