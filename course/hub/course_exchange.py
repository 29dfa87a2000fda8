"""The course's exchange: nbgrader's, with each submission private to its author and collected only from them.

Two gaps of nbgrader 0.9.6's file-system exchange on a shared machine, closed here:

- ``submit`` leaves a submission in ``inbound/`` world-writable (mode 0777, "so the instructor can delete later")
  with world-readable files, protected only by a name other students cannot list. A student who learnt the name
  could overwrite the notebook or read its ``submission_secret.txt``, the key to its author's feedback.
  :class:`PrivateSubmit` makes the folder 0750 and its files 0640 as soon as nbgrader has written them, all in the
  instructor's group (``inbound/`` is set-group-id), so ``nbgrader collect`` still reads them. (An old submission
  is then removed by root, not by the instructor.)
- ``collect`` trusts the student id in a submission's name (``nbgrader submit --student=alice`` works for anyone)
  and only warns when the folder belongs to someone else, after choosing the newest submission: a later forged
  submission replaces the real one. :class:`OwnerCheckedCollect` collects, per student, the newest submission
  that student's account owns, and reports forged ones as errors without collecting them.

Students' servers use ``PrivateSubmit`` (course/hub/student/nbgrader_config.py); the instructor's use
``OwnerCheckedCollect`` (course/nbgrader_config.py, when the hub sets ``BIOSIGNAL_COURSE_ID``).
"""
from __future__ import annotations

import os
import pwd
import shutil

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import ignore_patterns

FOLDER_MODE, FILE_MODE = 0o750, 0o640


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` that closes the submission to everyone but its author and the instructor's group."""

    def do_copy(self, src, dest):
        if os.path.dirname(os.path.abspath(dest)) != os.path.abspath(self.inbound_path):
            return super().do_copy(src, dest)  # the student's own cache
        # shutil.copytree ends by copying the source folder's mode onto the new one, which drops the set-group-id
        # bit it inherited from inbound/ (a student is not in the instructor's group): nbgrader's timestamp.txt and
        # submission_secret.txt, written next, would then belong to the student's group and be unreadable to the
        # instructor. So the folder is made here, and only what is inside is copied by nbgrader's own copy.
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:  # nbgrader's own limit, as in its do_copy
            raise RuntimeError(f"{src} is larger than {self.coursedir.max_dir_size} kB: not submitted")
        os.mkdir(dest)
        ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                 max_file_size=self.coursedir.max_file_size, log=self.log)
        names = os.listdir(src)
        skipped = ignore(src, names)
        for name in names:
            if name in skipped:
                continue
            if os.path.isdir(os.path.join(src, name)):
                super().do_copy(os.path.join(src, name), os.path.join(dest, name))
            else:
                shutil.copyfile(os.path.join(src, name), os.path.join(dest, name))

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        for folder, _, files in os.walk(dest):
            for name in files:
                os.chmod(os.path.join(folder, name), FILE_MODE)
            os.chmod(folder, FOLDER_MODE)


def owner(path: str) -> str:
    """The account name owning ``path`` ("uid N" for an id without an account)."""
    uid = os.stat(path).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class OwnerCheckedCollect(ExchangeCollect):
    """``nbgrader collect`` that takes a submission only from the account whose name it carries."""

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        record["owner"] = owner(path)
        if record["owner"] != record["username"]:
            self.log.error("Not collected: %s claims to be from %s but belongs to %s", record["filename"],
                           record["username"], record["owner"])
        return record

    def _sort_by_timestamp(self, records):
        # genuine submissions first, newest first: nbgrader then picks the newest genuine one per student
        return sorted(records, key=lambda r: (r["owner"] == r["username"], r["timestamp"]), reverse=True)

    def copy_files(self):
        # a student with forged submissions only: nothing of theirs to collect
        self.src_records = [r for r in self.src_records if r["owner"] == r["username"]]
        super().copy_files()
