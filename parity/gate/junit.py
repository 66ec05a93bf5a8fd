"""JUnit XML for ``numpy-rnn parity --junit PATH``, in the shape Jenkins and GitLab read.

    <testsuites name tests failures errors skipped time>
      <testsuite name=GROUP tests failures errors skipped time timestamp hostname>
        <properties><property name value/>...</properties>       (first suite: seed, versions)
        <testcase name=CASE classname=GROUP time>
          <failure message type>report</failure>   FAIL (type ParityFailure) or REGRESSED
                                                   (type BaselineRegression)
          <error message type>traceback</error>    ERROR (type: the exception's class)
          <skipped message/>                       skip
          <system-out>report</system-out>          every case that has a report
        </testcase>
      </testsuite>
    </testsuites>

One ``<testsuite>`` per case group, one ``<testcase>`` per parity case.
"""
from __future__ import annotations

import datetime as _dt
import re
import socket
import xml.etree.ElementTree as ET
from typing import Sequence

from .outcome import Outcome

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold."""
    return _INVALID_XML.sub("?", text)


def _first_line(outcome: Outcome) -> str:
    if outcome.status == "REGRESSED" and outcome.baseline:
        return outcome.baseline.get("message", "error grew past the baseline")
    if outcome.error:
        return outcome.error
    if outcome.report is not None:
        bad = [o for o in outcome.report.outputs if not o.passed]
        if bad:
            return bad[0].line()
    return f"{outcome.case}: {outcome.status}"


def junit_xml(outcomes: Sequence[Outcome], *, name: str = "numpy-rnn parity",
              properties: dict | None = None, timestamp: str | None = None) -> str:
    """The JUnit XML document (a ``str`` with the XML declaration) for ``outcomes``."""
    timestamp = timestamp or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.group or "parity", []).append(o)

    def tally(items: Sequence[Outcome]) -> dict[str, str]:
        return {"tests": str(len(items)),
                "failures": str(sum(o.status in ("FAIL", "REGRESSED") for o in items)),
                "errors": str(sum(o.status == "ERROR" for o in items)),
                "skipped": str(sum(o.status == "skip" for o in items)),
                "time": f"{sum(o.seconds for o in items):.3f}"}

    root = ET.Element("testsuites", {"name": name, **tally(outcomes)})
    hostname = socket.gethostname()
    for i, (group, items) in enumerate(groups.items()):
        suite = ET.SubElement(root, "testsuite", {"name": group, **tally(items),
                                                  "timestamp": timestamp, "hostname": hostname})
        if i == 0 and properties:
            props = ET.SubElement(suite, "properties")
            for key, value in properties.items():
                ET.SubElement(props, "property", {"name": str(key), "value": _clean(str(value))})
        for o in items:
            case = ET.SubElement(suite, "testcase", {"name": _clean(o.case), "classname": group,
                                                     "time": f"{o.seconds:.3f}"})
            body = _clean(o.text())
            if o.status in ("FAIL", "REGRESSED"):
                kind = "ParityFailure" if o.status == "FAIL" else "BaselineRegression"
                el = ET.SubElement(case, "failure", {"message": _clean(_first_line(o)),
                                                     "type": kind})
                el.text = body
            elif o.status == "ERROR":
                kind = (o.error or "Error").split(":", 1)[0]
                el = ET.SubElement(case, "error", {"message": _clean(_first_line(o)),
                                                   "type": kind})
                el.text = body
            elif o.status == "skip":
                ET.SubElement(case, "skipped", {"message": _clean(o.skipped or "skipped")})
            if o.report is not None and o.report.outputs:
                ET.SubElement(case, "system-out").text = _clean(str(o.report))
    ET.indent(root)  # Python 3.9+
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def write_junit(path: str, outcomes: Sequence[Outcome], **kwargs) -> None:
    """Write :func:`junit_xml` to ``path`` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(junit_xml(outcomes, **kwargs))
