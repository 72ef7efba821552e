"""A stand-in for GitHub's CLI (`gh`) in the workflows run under act: it answers the
calls the workflows make, from a folder of state (GH_STUB_DIR), and records each call.

    run-list         the id `gh run list` answers, "" for no run; "fail": an API error
    runs/<id>/       that run's artifacts, as act's artifact server stores them
                     (<name>/<name>.zip): what `gh run download <id>` fetches
    comments.json    the pull request's comments ([{id, user: {login}, body}])
    calls.jsonl      every call: its arguments

`--jq` goes through the jq program, as gh applies it to the API's JSON.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

STATE = Path(os.environ["GH_STUB_DIR"])
BOT = "github-actions[bot]"


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def answer(value: object, jq: str | None) -> None:
    text = json.dumps(value)
    if jq is None:
        print(text)
        return
    done = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode:
        sys.exit(done.returncode)


def run_list(args: list[str]) -> None:
    said = (STATE / "run-list").read_text().strip() if (STATE / "run-list").exists() else ""
    if said == "fail":
        print(
            "HTTP 502: Server Error (https://api.github.com/repos/example/kit/actions/runs)", file=sys.stderr
        )
        sys.exit(1)
    answer([{"databaseId": int(said)}] if said else [], option(args, "--jq"))


def run_download(args: list[str]) -> None:
    run, pattern, target = args[2], option(args, "--pattern") or "*", Path(option(args, "--dir") or ".")
    artifacts = sorted(
        folder for folder in (STATE / "runs" / run).glob("*") if fnmatch.fnmatch(folder.name, pattern)
    )
    if not artifacts:
        print("no valid artifacts found to download", file=sys.stderr)
        sys.exit(1)
    for folder in artifacts:  # gh puts each artifact in a folder of its name
        with zipfile.ZipFile(folder / f"{folder.name}.zip") as archive:
            archive.extractall(target / folder.name)


def api(args: list[str]) -> None:
    comments_file = STATE / "comments.json"
    comments = json.loads(comments_file.read_text()) if comments_file.exists() else []
    method = option(args, "-X") or "GET"
    path = next(arg for arg in args[1:] if arg.startswith("repos/"))
    if method == "GET" and path.endswith("/comments"):
        answer(comments, option(args, "--jq"))
        return
    field = option(args, "-F") or ""
    body = Path(field.removeprefix("body=@")).read_text() if field.startswith("body=@") else field
    if method == "POST":
        comment = {"id": 1000 + len(comments), "user": {"login": BOT}, "body": body}
        comments.append(comment)
    elif method == "PATCH":
        wanted = int(path.rsplit("/", 1)[1])
        (comment,) = [item for item in comments if item["id"] == wanted]
        comment["body"] = body
    else:
        print(f"gh stub: no answer for {method} {path}", file=sys.stderr)
        sys.exit(1)
    comments_file.write_text(json.dumps(comments, indent=1))
    answer(comment, option(args, "--jq"))


def main(args: list[str]) -> None:
    with (STATE / "calls.jsonl").open("a") as calls:
        calls.write(json.dumps(args) + "\n")
    if args[:2] == ["run", "list"]:
        run_list(args)
    elif args[:2] == ["run", "download"]:
        run_download(args)
    elif args[:1] == ["api"]:
        api(args)
    else:
        print(f"gh stub: no answer for gh {' '.join(args)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
