"""Writers: render results into files (an edge). Each takes rows or records
built by the core and writes one file; none computes a figure."""
