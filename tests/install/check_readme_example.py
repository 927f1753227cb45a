#!/usr/bin/env python3
"""The README's quick start must be the code CI compiles (examples/quickstart.cpp), to the byte."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
readme = (root / "README.md").read_text()
section = readme.split("## Quick start", 1)[1]
match = re.search(r"```cpp\n(.*?)```", section, re.S)
example = (root / "examples" / "quickstart.cpp").read_text()
if not match or match.group(1) != example:
    sys.exit("README quick start differs from examples/quickstart.cpp: update one to match the other")
print("README quick start matches examples/quickstart.cpp")
