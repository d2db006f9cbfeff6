package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/workspace"
)

// caseEdit is PUT /api/cases/{id}: the row's new input and expected
// answer; split, when given, says where to look for the id.
type caseEdit struct {
	Input    *string `json:"input"`
	Expected *string `json:"expected"`
	Split    string  `json:"split"`
}

// caseEdited answers an edit.
type caseEdited struct {
	Row lab.Example `json:"row"`
	// Split is where the row is now: in a lab split by ratios, a row whose
	// id comes from its content may move.
	Split      string `json:"split"`
	PreviousID string `json:"previous_id"`
	IDChanged  bool   `json:"id_changed"`
	Changed    bool   `json:"changed"`
	File       string `json:"file"`
	Line       int    `json:"line"`
	Version    string `json:"dataset_version"`
	PrevVer    string `json:"previous_dataset_version"`
	Message    string `json:"message"`
}

// splitsOf names the workspace's splits in the order cases are looked up.
func splitsOf(ws *workspace.Workspace) []struct {
	name string
	rows []lab.Example
} {
	return []struct {
		name string
		rows []lab.Example
	}{{"test", ws.Test}, {"validation", ws.Val}, {"train", ws.Train}}
}

// findCase looks id up in one split, or in all when split is empty.
func findCase(ws *workspace.Workspace, id, split string) (lab.Example, string, bool) {
	for _, sp := range splitsOf(ws) {
		if split != "" && sp.name != split {
			continue
		}
		for _, e := range sp.rows {
			if e.ID == id {
				return e, sp.name, true
			}
		}
	}
	return lab.Example{}, "", false
}

// apiEditCase fixes one row of the lab's data: the file the row came from
// is rewritten atomically with only that row changed, and the lab is
// reloaded, so the dataset version (and with it new runs' ids) changes
// while stored runs stay as they were.
func (s *Server) apiEditCase(w http.ResponseWriter, r *http.Request) {
	a := s.lab(w)
	if a == nil {
		return
	}
	var req caseEdit
	if !s.decodeBody(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	switch {
	case req.Input == nil || strings.TrimSpace(*req.Input) == "":
		writeError(w, errBadRequest("input is empty: give the row's input text"))
		return
	case req.Expected == nil:
		writeError(w, errBadRequest("expected is missing: give the row's expected answer (\"\" when it has none)"))
		return
	case req.Split != "" && req.Split != "train" && req.Split != "validation" && req.Split != "test":
		writeError(w, errBadRequest("split must be train, validation or test, or left out"))
		return
	}
	// Runs read the data when they start; a ladder under way would mix
	// two versions of the dataset in one verdict. Holding the lock also
	// keeps a second edit from reading the file while this one writes it.
	a.ladder.mu.Lock()
	defer a.ladder.mu.Unlock()
	if a.ladder.state == "running" {
		writeError(w, &apiError{Status: http.StatusConflict, Type: "invalid_request_error",
			Message: "the ladder is running on this dataset: fix the row after it finishes"})
		return
	}
	ws := s.labOr(w, r)
	if ws == nil {
		return
	}
	if ws.Task.Output == lab.OutputLabel && !slices.Contains(ws.Task.Labels, *req.Expected) {
		writeError(w, errBadRequest("expected %q is not one of the task's labels (%s): pick one of them, or add it to task.labels in %s",
			*req.Expected, strings.Join(ws.Task.Labels, ", "), filepath.Base(a.ConfigPath)))
		return
	}
	ex, split, ok := findCase(ws, id, req.Split)
	if !ok {
		where := "this lab"
		if req.Split != "" {
			where = "the " + req.Split + " split"
		}
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error",
			Message: fmt.Sprintf("no case %q in %s: GET /api/cases lists the rows and their ids", id, where)})
		return
	}
	rel := ex.Source
	if p, err := filepath.Rel(ws.Config.Dir, ex.Source); err == nil && !strings.HasPrefix(p, "..") {
		rel = p
	}
	d := ws.Config.Data
	opts := dataset.LoadOptions{Format: d.Format,
		Columns: dataset.Columns{Input: d.Columns.Input, Expected: d.Columns.Expected, ID: d.Columns.ID}}
	old, err := os.ReadFile(ex.Source)
	if err != nil {
		writeError(w, internal(fmt.Errorf("read %s: %w", rel, err)))
		return
	}
	info, err := os.Stat(ex.Source)
	if err != nil {
		writeError(w, internal(err))
		return
	}
	ed, err := dataset.EditFile(ex.Source, opts, dataset.RowEdit{ID: id, Input: *req.Input, Expected: *req.Expected})
	switch {
	case errors.Is(err, dataset.ErrRowNotFound):
		writeError(w, &apiError{Status: http.StatusConflict, Type: "invalid_request_error",
			Message: fmt.Sprintf("%v: the file changed since the lab was loaded; reload the page and try again", err)})
		return
	case errors.Is(err, dataset.ErrBadEdit):
		writeError(w, &apiError{Status: http.StatusUnprocessableEntity, Type: "invalid_request_error", Message: err.Error()})
		return
	case err != nil:
		writeError(w, internal(err))
		return
	}
	out := caseEdited{Row: ed.After, Split: split, PreviousID: id, IDChanged: ed.IDChanged, Changed: ed.Changed,
		File: rel, Line: ex.Line, Version: ws.Version, PrevVer: ws.Version}
	if !ed.Changed {
		out.Message = "the row already held these values; nothing was written"
		writeJSON(w, http.StatusOK, out)
		return
	}
	a.reload()
	ws2, err := a.workspace(r.Context())
	if err != nil {
		// The file loads on its own but the lab refuses it (a rule across
		// rows); put the old file back so the lab keeps working.
		if rerr := fsutil.WriteFileAtomic(ex.Source, old, info.Mode().Perm()); rerr != nil {
			writeError(w, internal(fmt.Errorf("the edit broke the lab (%v) and restoring %s failed: %w", err, rel, rerr)))
			return
		}
		a.reload()
		writeError(w, &apiError{Status: http.StatusUnprocessableEntity, Type: "invalid_request_error",
			Message: fmt.Sprintf("the lab would not load with this edit, so %s was left as it was: %v", rel, err)})
		return
	}
	out.Version = ws2.Version
	_, out.Split, _ = findCase(ws2, ed.After.ID, "")
	var notes []string
	notes = append(notes, fmt.Sprintf("Saved %s line %d; the dataset version is now %s (stored runs keep theirs).", rel, ex.Line, ws2.Version))
	if ed.IDChanged {
		notes = append(notes, fmt.Sprintf("The row has no id of its own, so its id comes from its content and is now %s (was %s); give it an \"id\" in the file to keep one across edits.", ed.After.ID, id))
	}
	if out.Split != split && out.Split != "" {
		notes = append(notes, fmt.Sprintf("The split follows the row's content, so it moved from %s to %s.", split, out.Split))
	}
	out.Message = strings.Join(notes, " ")
	writeJSON(w, http.StatusOK, out)
}
