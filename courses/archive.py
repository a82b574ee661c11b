"""A course folder from a zip archive (the API's course import; the authoring page exports the
same shape). Read in memory, entry by entry, with the folder loader's limits: no path outside the
folder, no file over MAX_FILE_BYTES, no archive over MAX_TREE_BYTES once unpacked."""

import io
import zipfile

from courses.format.tree import IGNORED_NAMES, MAX_FILE_BYTES, MAX_TREE_BYTES, CourseTree, check_relative


class ArchiveInvalid(ValueError):
    pass


def tree_from_zip(data: bytes) -> CourseTree:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ArchiveInvalid("not a zip archive") from None
    entries = [i for i in archive.infolist() if not i.is_dir()]
    names = [i.filename for i in entries]
    # An export holds one top folder (`zero-to-gpt/course.toml`): strip it when every entry has it.
    top = names[0].split("/", 1)[0] + "/" if names and "/" in names[0] else ""
    strip = top if top and all(n.startswith(top) for n in names) else ""
    files, total = {}, 0
    for info in entries:
        path = info.filename[len(strip) :]
        if any(part in IGNORED_NAMES for part in path.split("/")):
            continue
        problem = check_relative(path)
        if problem:
            raise ArchiveInvalid(f"{info.filename}: {problem}")
        if info.file_size > MAX_FILE_BYTES:
            raise ArchiveInvalid(f"{path}: {info.file_size} bytes; course files may be at most {MAX_FILE_BYTES} bytes")
        total += info.file_size
        if total > MAX_TREE_BYTES:
            raise ArchiveInvalid(f"the archive unpacks to more than {MAX_TREE_BYTES >> 20} MiB")
        with archive.open(info) as handle:
            content = handle.read(MAX_FILE_BYTES + 1)  # the declared size may lie
        if len(content) > MAX_FILE_BYTES:
            raise ArchiveInvalid(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        files[path] = content
    if "course.toml" not in files:
        raise ArchiveInvalid("no course.toml at the top of the archive (or inside its one top folder)")
    return CourseTree(files=files)
