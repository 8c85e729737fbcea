"""quickstart.py - the README's Python example: versions and errors."""
import hpcvirt

print("hpcvirt", hpcvirt.version(), hpcvirt.version_info())
size = hpcvirt.parse_size("1.5TiB")
print("1.5TiB =", size, "bytes =", hpcvirt.format_size(size))
try:
    hpcvirt.parse_size("lots")
except hpcvirt.Error as err:  # carries code, name, message and path
    print("error", err.name, ":", err.message)
