"""nbgrader configuration of a student's server on the course's JupyterHub (installed by ``make hub``).

Students only fetch, submit and fetch feedback, through the exchange the hub names in the environment it gives
every server (``BIOSIGNAL_COURSE_ID``, ``BIOSIGNAL_EXCHANGE_ROOT``; see course/hub/jupyterhub_config.py).
Submissions are made with the course's private submit (``course_exchange.py``, copied beside this file by prepare.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

c = get_config()  # noqa: F821 (defined by traitlets when it loads this file)
c.CourseDirectory.course_id = os.environ["BIOSIGNAL_COURSE_ID"]
c.Exchange.root = os.environ["BIOSIGNAL_EXCHANGE_ROOT"]
c.ExchangeFactory.submit = "course_exchange.PrivateSubmit"
