"""The last step (输出): the run folder, its tables, workbook, GIS layers and comparison.

``writers`` write a folder that appears whole or not at all (cells made safe by
``safe``), ``workbook`` lays out ``results.xlsx``, ``gis`` writes ``results.gpkg``,
``run_output`` writes a run (tables, maps, reports, manifest), ``diff`` compares two
runs' tables and ``compare`` reads two run folders and writes their comparison.
"""
