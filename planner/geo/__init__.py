"""Geometry on data frames (地理计算): coordinate systems (``crs``) and road networks (``roads``).

Pure: no file is read or written here; the inputs step calls it while loading and the
siting step for network distances.
"""
