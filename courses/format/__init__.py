"""The git-native course folder format: loading, validating, hashing (docs/course-format.md)."""
