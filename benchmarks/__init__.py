"""Benchmarks and evaluation scripts, beside the package (not installed with it).

    python -m benchmarks            # everything; regenerates docs/benchmarks.md
    python -m benchmarks.quality    # retrieval quality of one model on the dev sets
    python -m benchmarks.serve      # one `assistant serve` under gradio_client load
"""
