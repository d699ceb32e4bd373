"""Turn pydantic's errors into plan problems (path, value, what is accepted), plus checks on the raw data."""

from __future__ import annotations

import re
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic import Tag as PydanticTag

from engine.errors import accepted, did_you_mean
from engine.language.loading import NOT_PRINTABLE
from engine.language.models.common import ID_PATTERN, Tag
from engine.language.models.steps import KINDS
from engine.language.models.timing import TIMING_KEYS
from engine.language.phrases import either_of, missing_field, out_of_range, shown
from engine.secrets import find_secret, may_hold, redact

Loc = tuple[Any, ...]
Finding = tuple[Loc, str, bool]  # (loc, message, points at the key rather than the value)

MERGE_KEY = "<<"
TAG_PATTERN = next(m.pattern for m in Tag.__metadata__ if getattr(m, "pattern", None))

_TYPE_NAMES = {
    "string_type": "giá trị dạng chữ",
    "int_type": "một số nguyên",
    "int_parsing": "một số nguyên",
    "bool_type": "true hoặc false",
    "list_type": "một danh sách",
    "dict_type": "một bảng 'khóa: giá trị'",
    "model_type": "một bảng 'khóa: giá trị'",
    "model_attributes_type": "một bảng 'khóa: giá trị'",
    "float_type": "một số",
    "date_type": "một ngày",
}
_RELATIONS = {"greater_than_equal": "tối thiểu là", "less_than_equal": "tối đa là", "greater_than": "phải lớn hơn",
              "less_than": "phải nhỏ hơn"}


def clean_loc(raw: Any, loc: Loc) -> Loc:
    """Drop union tags from pydantic's loc, keeping the keys and indexes that exist in the file."""
    out: list[Any] = []
    node = raw
    for seg in loc:
        if isinstance(seg, str) and seg.startswith("@"):
            continue
        if isinstance(seg, str) and seg in KINDS and isinstance(node, dict) and seg not in node:
            continue
        if isinstance(node, dict) and seg not in node:  # pydantic names a key that is not text by its str()
            seg = next((k for k in node if str(k) == str(seg)), seg)
        out.append(seg)
        if isinstance(node, dict):
            node = node.get(seg)
        elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
            node = node[seg]
        else:
            node = None
    return tuple(out)


def render_path(raw: Any, loc: Loc) -> str:
    """`steps.quan-triet.timing.due`: steps are named by their id when they have one."""
    parts: list[str] = []
    node = raw
    for seg in loc:
        if isinstance(seg, int) and not isinstance(node, dict):  # an index (a number used as a key is a key)
            item = node[seg] if isinstance(node, list) and 0 <= seg < len(node) else None
            step_id = item.get("id") if isinstance(item, dict) else None
            if parts == ["steps"] and isinstance(step_id, str) and step_id:
                parts.append(step_id)
            else:
                if parts:
                    parts[-1] += f"[{seg}]"
                else:
                    parts.append(f"[{seg}]")
            node = item
        else:
            parts.append(str(seg))
            node = node.get(seg) if isinstance(node, dict) else None
    return ".".join(parts)


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    origin = get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return list(get_args(tp))
    return [tp]


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class a (pydantic) loc points into, following lists, dicts and tagged unions."""
    tp: Any = root
    for seg in loc:
        tp = _step_into(tp, seg)
        if tp is None:
            return None
    tp = _unwrap(tp)
    members = [m for m in (_unwrap(x) for x in _members(tp)) if isinstance(m, type) and issubclass(m, BaseModel)]
    return members[0] if len(members) == 1 else None


def _step_into(tp: Any, seg: Any) -> Any:
    tp = _unwrap(tp)
    candidates = [c for c in _members(tp) if c is not type(None)]
    for raw_candidate in candidates:
        cand = _unwrap(raw_candidate)
        origin = get_origin(cand)
        if isinstance(seg, int) and origin is list:
            return get_args(cand)[0]
        if isinstance(seg, str) and origin is dict:
            return get_args(cand)[1]
        if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(seg, str):
            for name, info in cand.model_fields.items():
                if seg in (name, info.alias):
                    return info.annotation
    if isinstance(seg, str):  # a union tag: pick the member it names
        for raw_candidate in candidates:
            cand = _unwrap(raw_candidate)
            tags = [m.tag for m in getattr(raw_candidate, "__metadata__", ()) if isinstance(m, PydanticTag)]
            if seg in tags:
                return cand
            if isinstance(cand, type) and issubclass(cand, BaseModel) and "kind" in cand.model_fields:
                if get_args(cand.model_fields["kind"].annotation) == (seg,):
                    return cand
    return None


def field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def translate(root: type[BaseModel], raw: Any, exc: ValidationError) -> list[tuple[Loc, str, bool]]:
    """Each pydantic error as (clean loc, message, points-at-key)."""
    out: list[tuple[Loc, str, bool]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        at_key = False
        if kind == "extra_forbidden":
            model = model_at(root, loc[:-1])
            key = str(loc[-1])
            names = field_names(model) if model else []
            msg = f"trường '{key}' không có trong mẫu kế hoạch{did_you_mean(key, names)}"
            if names:
                msg += f" (các trường nhận: {accepted(names, limit=20)})"
            at_key = True
        elif kind == "invalid_key":
            msg = (f"khóa {shown(value)} không phải dạng chữ: khóa là tên trường hoặc mã (muốn dùng làm chữ thì đặt "
                   "trong dấu nháy)")
            at_key = True
        elif kind == "missing":
            loc, field = loc[:-1], loc[-1]
            msg = missing_field(field)
        elif kind == "union_tag_invalid" and ctx.get("discriminator") == "'kind'":
            tag = str(ctx.get("tag"))
            msg = (f"không có loại bước {shown(tag)}{did_you_mean(tag, KINDS)} (các loại bước: "
                   f"{accepted(KINDS)})")
            loc = (*loc, "kind")
        elif kind == "union_tag_not_found" and ctx.get("discriminator") == "'kind'":
            msg = f"{missing_field('kind')} (loại bước, một trong: {accepted(KINDS)})"
        elif kind in ("union_tag_not_found", "union_tag_invalid"):  # timing: no form key, or several
            msg = _timing_message(value)
        elif kind == "literal_error":
            written = re.split(r", | or ", str(ctx.get("expected", "")))
            msg = f"giá trị {shown(value)} không hợp lệ ở đây: chỉ nhận {either_of(written)}"
            msg += did_you_mean(str(value), [w.strip("'") for w in written if w])
        elif kind == "string_pattern_mismatch":
            msg = _pattern_message(value, ctx.get("pattern"))
        elif kind == "string_too_long":
            msg = f"{shown(value)} dài {len(value)} ký tự: tối đa {ctx.get('max_length')} ký tự"
        elif kind == "too_long":
            msg = f"danh sách có {ctx.get('actual_length')} mục: tối đa {ctx.get('max_length')} mục"
        elif kind == "string_too_short":
            msg = "không được để trống"
        elif kind == "too_short":
            msg = f"danh sách cần ít nhất {ctx.get('min_length', 1)} mục"
        elif kind in _RELATIONS:
            msg = out_of_range(shown(value), f"{_RELATIONS[kind]} {next(iter(ctx.values()), '?')}")
        elif kind in _TYPE_NAMES:
            msg = f"cần {_TYPE_NAMES[kind]}, không phải {shown(value)}"
        elif kind == "value_error":
            msg = str(ctx.get("error", err["msg"]))
        else:  # a check the plan language does not word (pydantic's own words would be English)
            msg = f"giá trị {shown(value)} không hợp lệ ở đây"
        if loc and loc[-1] == "[key]":  # a mapping key (a unit id) is wrong: point at the key itself
            loc, at_key = loc[:-1], True
        out.append((clean_loc(raw, loc), msg, at_key))
    return out


def _pattern_message(value: Any, pattern: Any) -> str:
    if pattern == ID_PATTERN:
        return (f"{shown(value)} không phải mã hợp lệ: chỉ dùng chữ thường a-z không dấu, chữ số và '-' "
                "(ví dụ 'van-phong')")
    if pattern == TAG_PATTERN:
        return (f"{shown(value)} không phải nhãn hợp lệ: chỉ dùng chữ cái không dấu, chữ số, '-', '_' và '.', bắt "
                "đầu bằng chữ cái hoặc chữ số, không có dấu cách (ví dụ 'van-phong')")
    return f"{shown(value)} không đúng dạng quy định ({pattern})"


def _timing_message(value: Any) -> str:
    forms = "due/before (+start), in_year, monthly, quarterly, half_yearly, yearly, ongoing, on_demand, after"
    if not isinstance(value, dict):
        return f"timing cần một bảng có một trong các dạng: {forms}; không phải {shown(value)}"
    present = [k for k in value if k in TIMING_KEYS and k not in ("due", "before")]
    if len(present) > 1:
        return f"timing có nhiều dạng cùng lúc ({', '.join(present)}): chỉ ghi một trong các dạng {forms}"
    hints = "".join(did_you_mean(str(k), TIMING_KEYS) for k in value if k not in TIMING_KEYS)
    return f"timing cần một trong các dạng: {forms}{hints}"


def _walk(data: Any) -> Any:
    """Yield (loc, key, value) for every entry of nested mappings and lists, iteratively (files may nest deep)."""
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            yield loc, key, value
            if isinstance(value, (dict, list)):
                stack.append(((*loc, key), value))


def find_secrets(data: Any) -> list[Finding]:
    """Every text (value or key) that holds a password or token inside an address, located at that text.

    The message shows the address with the secret replaced by '***'.
    """
    out: list[Finding] = []
    for loc, key, value in _walk(data):
        for text, at_key in ((key, True), (value, False)):
            if isinstance(text, str) and (found := find_secret(text)):
                out.append(((*loc, key), _secret_message(text, found), at_key))
    return out


CONTROL_ESCAPE = "ký tự điều khiển"


def find_control_characters(data: Any) -> list[Finding]:
    """Every text (value or key) holding a control character, located at that text.

    A raw control character is refused when the file is read (engine.language.loading); one written as a YAML escape
    in a double-quoted text (`"\\x01"`, `"\\0"`, `"\\e"`) only exists once parsed, and would reach notice
    subjects and break the XML of a DOCX draft.
    """
    out: list[Finding] = []
    for loc, key, value in _walk(data):
        for text, at_key in ((key, True), (value, False)):
            if isinstance(text, str) and (found := NOT_PRINTABLE.search(text)):
                out.append(((*loc, key), f"{CONTROL_ESCAPE} U+{ord(found.group()):04X} (viết dạng '\\0', '\\e', "
                            "'\\x01'...) không được dùng trong kế hoạch: thông báo và văn bản không chứa được ký tự "
                            "này - xóa phần viết đó", at_key))
    return out


def _secret_message(text: str, found: re.Match[str]) -> str:
    start = text.rfind(" ", 0, found.start()) + 1
    end = text.find(" ", found.end())
    address = redact(text[start:] if end < 0 else text[start:end])
    cut = address if len(address) <= 80 else address[:77] + "..."
    return ("không được ghi mật khẩu, mã truy cập vào tệp kế hoạch: chỉ ghi tên để trỏ tới chúng (nhãn thông báo, "
            f"hoặc một thiết lập của máy chủ), còn giá trị để ngoài kế hoạch - phát hiện trong '{cut}'")


def find_merge_keys(data: Any) -> list[Loc]:
    """The loc of every mapping that uses a YAML merge key ('<<'), which the plan language does not support."""
    top: list[Loc] = [()] if isinstance(data, dict) and MERGE_KEY in data else []
    return top + [(*loc, key) for loc, key, value in _walk(data) if isinstance(value, dict) and MERGE_KEY in value]


def merge_key_findings(merges: list[Loc]) -> list[Finding]:
    """A problem at each '<<' key (from `find_merge_keys`): copying a mapping this way hides what a step holds."""
    return [
        ((*loc, MERGE_KEY), "không dùng được khóa gộp YAML ('<<'): ghi đủ các trường ra, hoặc đặt đơn vị và chính "
         "sách dùng chung vào tệp cơ quan (include:) hoặc vào 'defaults:'", True)
        for loc in merges
    ]


def may_hold_secret(text: str) -> bool:
    """False only when no value of the file can hold a secret: the raw text has none and no escapes."""
    return may_hold(text)


def inside(loc: Loc, parents: list[Loc]) -> bool:
    """True when `loc` lies within (or is) one of `parents`."""
    return any(loc[: len(p)] == p for p in parents)


__all__ = ["translate", "render_path", "clean_loc", "model_at", "find_secrets", "find_control_characters",
           "merge_key_findings", "find_merge_keys", "inside", "may_hold_secret", "MERGE_KEY"]
