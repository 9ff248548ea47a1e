"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

That host is not reachable from every build machine (PyPI is). ansible-test runs this file with pip's
own command line (``--disable-pip-version-check pip==X setuptools==Y ...``): pip comes from the
interpreter's bundled ``ensurepip``, then pip installs exactly what ansible-test asked for from PyPI.
testbed/run-tests.sh puts it where ansible-test looks for its cached copy.
"""
import ensurepip
import os
import subprocess
import sys

# get-pip.py's own options (what not to install besides pip); pip install does not know them
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

if __name__ == "__main__":
    ensurepip.bootstrap(upgrade=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null for its own offline install: the real install needs the
    # machine's pip configuration back (index, proxy CA)
    os.environ.pop("PIP_CONFIG_FILE", None)
    pip_args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    raise SystemExit(subprocess.call([sys.executable, "-m", "pip", "install", *pip_args]))
