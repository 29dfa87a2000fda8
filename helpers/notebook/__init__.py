"""Notebook support: what lessons and assignments use around the deep learning itself.

- :mod:`~helpers.notebook.course`: the run sizes (``FAST`` for CI and grading, full size for students);
- :mod:`~helpers.notebook.report`: each notebook's headline results and the claims its text relies on;
- :mod:`~helpers.notebook.selfcheck`, :mod:`~helpers.notebook.selfcheck_numbers`, :mod:`~helpers.notebook.selfcheck_loop`,
  :mod:`~helpers.notebook.selfcheck_mechanics`: the lessons' predict-run-check exercises;
- :mod:`~helpers.notebook.mechanics`: reference versions of what lesson 02b writes by hand (masked attention).

Import the submodule you need; nothing is loaded eagerly.
"""
