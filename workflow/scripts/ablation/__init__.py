"""The CNN ablation study's library.

Rule scripts under ``workflow/scripts`` only unpack Snakemake's objects and call
into these modules, so every piece can be imported and tested without Snakemake.
TensorFlow is imported lazily by the modules that need it, so data handling and
reporting stay fast to import.
"""
