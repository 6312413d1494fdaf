"""Data from outside the generator: the data home and its registry of public files
(``registry``), the two public data sets of Chapter 8 (``public``), and the bring-your-own-data
folder format (``folder``) and the rules its data must meet (``checks``)."""

from cancer_alpha.datasets.checks import (
    CONSTANT_POLICIES,
    check_training_data,
    check_value_ranges,
    drop_constant_features,
)
from cancer_alpha.datasets.folder import (
    LABELS,
    METADATA_FILES,
    TABLE_FORMATS,
    align_features,
    read_folder,
    write_folder,
)
from cancer_alpha.datasets.public import (
    BREAST_TCGA_CLASSES,
    ROSMAP_CLASSES,
    ROSMAP_PUBLISHED,
    load_breast_tcga,
    load_rosmap,
)
from cancer_alpha.datasets.registry import (
    ENV_VAR,
    REGISTRY,
    RemoteFile,
    data_home,
    fetch,
    sha256sum,
)

__all__ = [
    "CONSTANT_POLICIES", "check_training_data", "check_value_ranges", "drop_constant_features",
    "LABELS", "METADATA_FILES", "TABLE_FORMATS", "align_features",
    "read_folder", "write_folder", "BREAST_TCGA_CLASSES", "ROSMAP_CLASSES", "ROSMAP_PUBLISHED",
    "load_breast_tcga", "load_rosmap", "ENV_VAR", "REGISTRY", "RemoteFile", "data_home", "fetch",
    "sha256sum",
]
