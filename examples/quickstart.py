"""quickstart.py - the README's Python example: versions and errors.

    PYTHONPATH=build/bindings/python /usr/bin/python3 examples/quickstart.py
"""
import argparse

import hpcvirt

argparse.ArgumentParser(description="Print hpcvirt's version, a size parsed and "
                                    "formatted, and an error.").parse_args()

print("hpcvirt", hpcvirt.version(), hpcvirt.version_info())
size = hpcvirt.parse_size("1.5TiB")
print("1.5TiB =", size, "bytes =", hpcvirt.format_size(size))
try:
    hpcvirt.parse_size("lots")
except hpcvirt.Error as err:  # carries code, name, message and path
    print("error", err.name, ":", err.message)
