"""Regenerate churn.csv.gz from the generative model in nn/datasets.py.

    python nn/dataset_files/make_churn.py

The output is byte-for-byte reproducible (fixed seed, gzip timestamp 0); the test suite checks
that the shipped file matches what this script writes.
"""

from pathlib import Path

from nn.datasets import CHURN_FILE, write_churn_csv

if __name__ == "__main__":
    target = Path(__file__).with_name(CHURN_FILE)
    write_churn_csv(target)
    print(f"wrote {target}")
