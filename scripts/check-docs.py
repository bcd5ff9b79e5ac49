#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Parse every Documentation/*.rst with docutils; any warning fails."""
import glob
import io
import os
import sys

import docutils.core

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
bad = 0
for path in sorted(glob.glob(os.path.join(root, "Documentation", "*.rst"))):
    errors = io.StringIO()
    docutils.core.publish_doctree(
        open(path).read(), source_path=path,
        settings_overrides={"report_level": 2, "halt_level": 5,
                            "warning_stream": errors})
    if errors.getvalue():
        bad += 1
        print(errors.getvalue(), end="")
    else:
        print("ok", os.path.relpath(path, root))
sys.exit(1 if bad else 0)
