"""The course's submit: nbgrader's, with the submission readable by its author and the instructor only.

nbgrader 0.9.6 leaves a submission in the exchange's ``inbound/`` world-writable (mode 0777, "so the instructor
can delete later") with world-readable files, its only protection being a name other students cannot list. A
student who learnt the name could then overwrite the notebook, or read its ``submission_secret.txt``, the key to
its author's feedback. Here the folder becomes 2750 and its files 0640 right after nbgrader writes them: ``inbound/``
is set-group-id, so they belong to the instructor's group and ``nbgrader collect`` still reads them; other
students get nothing. (An old submission is removed by root, not by the instructor.)
"""
from __future__ import annotations

import os

from nbgrader.exchange.default.submit import ExchangeSubmit

FOLDER_MODE, FILE_MODE = 0o2750, 0o640


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` that closes the submission to everyone but its author and the instructor's group."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        for folder, _, files in os.walk(dest):
            for name in files:
                os.chmod(os.path.join(folder, name), FILE_MODE)
            os.chmod(folder, FOLDER_MODE)
