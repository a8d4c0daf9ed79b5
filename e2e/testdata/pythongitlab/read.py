"""Reads an imported project back from ferry with python-gitlab.

Run by e2e TestPythonGitLabReadsAnImport with Debian's /usr/bin/python3
(python3-gitlab). Everything comes from the environment, never argv:
FERRY_URL, FERRY_TOKEN, FERRY_PROJECT (path with namespace), FERRY_ISSUE
and FERRY_MR (iids to read in detail), FERRY_EVENT_ISSUE (an issue whose
resource events to read), FERRY_ARCHIVE (where to write the
repository archive's bytes). Prints one JSON object of facts on stdout; the
Go test compares each with what client-go and the store say.
"""

import json
import os
import sys
import traceback

import gitlab


def notes(items):
    return [{"id": n.id, "body": n.body, "system": n.system, "author": n.author["username"]} for n in items]


def diff(d):
    return {"old_path": d["old_path"], "new_path": d["new_path"], "diff": d["diff"],
            "new_file": d["new_file"], "deleted_file": d["deleted_file"], "renamed_file": d["renamed_file"]}


def main():
    env = os.environ
    gl = gitlab.Gitlab(env["FERRY_URL"], private_token=env["FERRY_TOKEN"])
    gl.auth()
    out = {"python_gitlab": gitlab.__version__, "user": gl.user.username}

    p = gl.projects.get(env["FERRY_PROJECT"])
    out["project"] = {"id": p.id, "path_with_namespace": p.path_with_namespace, "name": p.name,
                      "default_branch": p.default_branch, "visibility": p.visibility}

    issues = p.issues.list(get_all=True)
    out["issues"] = len(issues)
    out["issue_iids"] = sorted(i.iid for i in issues)
    issue = p.issues.get(int(env["FERRY_ISSUE"]))
    out["issue"] = {"iid": issue.iid, "title": issue.title, "state": issue.state,
                    "notes": notes(issue.notes.list(get_all=True))}

    # Resource events of an issue with label or state events, and of the
    # merge request: each list, and one event read by its id.
    ev_issue = p.issues.get(int(env["FERRY_EVENT_ISSUE"]))
    label_events = ev_issue.resourcelabelevents.list(get_all=True)
    out["issue_events"] = {
        "iid": ev_issue.iid,
        "label": [{"id": e.id, "action": e.action, "label": e.label["name"], "label_id": e.label["id"],
                   "resource_type": e.resource_type, "resource_id": e.resource_id, "user": e.user["username"]}
                  for e in label_events],
        "state": [{"id": e.id, "state": e.state, "resource_type": e.resource_type, "resource_id": e.resource_id,
                   "user": e.user["username"]} for e in ev_issue.resourcestateevents.list(get_all=True)],
        "milestone": [{"id": e.id, "action": e.action, "milestone": (e.milestone or {}).get("title", "")}
                      for e in ev_issue.resourcemilestoneevents.list(get_all=True)],
        "one_label": ev_issue.resourcelabelevents.get(label_events[0].id).label["name"] if label_events else "",
    }

    mrs = p.mergerequests.list(get_all=True)
    out["merge_requests"] = len(mrs)
    out["merge_request_iids"] = sorted(m.iid for m in mrs)
    mr = p.mergerequests.get(int(env["FERRY_MR"]))
    versions = mr.diffs.list(get_all=True)
    version = mr.diffs.get(versions[0].id)
    approvals = mr.approvals.get()
    discussions = mr.discussions.list(get_all=True)
    out["mr"] = {
        "iid": mr.iid, "state": mr.state, "title": mr.title,
        "diff_refs": mr.diff_refs,
        "commits": [c.id for c in mr.commits()],
        "changes": [diff(d) for d in mr.changes()["changes"]],
        "versions": [{"id": v.id, "head_commit_sha": v.head_commit_sha, "base_commit_sha": v.base_commit_sha} for v in versions],
        "version": {"id": version.id, "head_commit_sha": version.head_commit_sha,
                    "commits": [c["id"] for c in version.commits], "diffs": [diff(d) for d in version.diffs]},
        "approvals": {"approved": approvals.approved,
                      "approved_by": sorted(a["user"]["username"] for a in approvals.approved_by)},
        "discussions": [{"id": d.id, "notes": [n["id"] for n in d.attributes["notes"]]} for d in discussions],
        "state_events": [e.state for e in mr.resourcestateevents.list(get_all=True)],
    }

    tree = p.repository_tree(recursive=True, get_all=True)
    out["tree"] = sorted(({"id": t["id"], "path": t["path"], "type": t["type"], "mode": t["mode"]} for t in tree),
                         key=lambda t: t["path"])
    refs = mr.diff_refs
    cmp = p.repository_compare(refs["base_sha"], refs["head_sha"])
    out["compare"] = {"commits": [c["id"] for c in cmp["commits"]], "diffs": [diff(d) for d in cmp["diffs"]]}

    blob = next(t for t in out["tree"] if t["type"] == "blob")
    meta = p.repository_blob(blob["id"])
    raw = p.repository_raw_blob(blob["id"])
    out["blob"] = {"sha": meta["sha"], "size": meta["size"], "encoding": meta["encoding"],
                   "content": meta["content"], "raw": raw.decode("utf-8", "replace"), "raw_len": len(raw)}

    with open(env["FERRY_ARCHIVE"], "wb") as f:
        f.write(p.repository_archive())

    out["labels"] = sorted(l.name for l in p.labels.list(get_all=True))
    out["milestones"] = sorted(m.title for m in p.milestones.list(get_all=True))
    out["releases"] = sorted(r.tag_name for r in p.releases.list(get_all=True))
    out["wikis"] = sorted(w.slug for w in p.wikis.list(get_all=True))
    out["wiki_home"] = p.wikis.get("Home").content

    st = p.imports.get()
    out["import"] = {"import_status": st.import_status, "import_type": st.attributes.get("import_type"),
                     "import_error": st.attributes.get("import_error")}

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    try:
        main()
    except gitlab.exceptions.GitlabError as e:
        # The endpoint, status and body ferry answered, for the test's report.
        traceback.print_exc()
        print(f"python-gitlab: {type(e).__name__}: {e.response_code} {e.error_message}", file=sys.stderr)
        sys.exit(3)
