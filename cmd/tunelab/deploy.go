package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/server"
	"github.com/tunelab/tunelab/internal/workspace"
)

func openLab(cmd *cobra.Command, storeDSN string) (*workspace.Workspace, error) {
	cfgPath, _ := cmd.Flags().GetString("config")
	return workspace.Open(cmd.Context(), cfgPath, workspace.Options{StoreDSN: storeDSN})
}

func newDeployCmd() *cobra.Command {
	var (
		candidate, verdict, shadow, storeDSN string
		split                                []string
	)
	cmd := &cobra.Command{
		Use:   "deploy NAME (--candidate ID | --from-verdict)",
		Short: "Freeze a candidate as a deployment that `tunelab serve` answers under NAME",
		Long: `Makes NAME's next version: the candidate (model, prompt, parameters), the task
and the demonstrations its prompt draws on, and the model file's fingerprint, all
frozen, so what is served is what was measured. Clients call it as model NAME.
--candidate takes an id from a run (see the ladder's report or eval's table);
--from-verdict takes the ladder's pick. --split other=0.2 sends 20% of NAME's
traffic to deployment other (A/B); --shadow other copies every call to other
and keeps its answers as shadow traces.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := checkName(name); err != nil {
				return err
			}
			if (candidate == "") == (verdict == "") {
				return errors.New("give one of --candidate ID or --from-verdict")
			}
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			if verdict != "" {
				if candidate, err = verdictPick(w.Path(verdict)); err != nil {
					return err
				}
			}
			c, quality, err := w.Deployable(cmd.Context(), candidate)
			if err != nil {
				return err
			}
			d := w.Freeze(name, c, quality)
			if _, err := w.ServeTarget(d); err != nil {
				return fmt.Errorf("deploy %s: %w", name, err)
			}
			if d.Split, err = parseSplit(split); err != nil {
				return err
			}
			for _, arm := range d.Split {
				if _, err := w.Store.Deployment(cmd.Context(), arm.Deployment); err != nil {
					return fmt.Errorf("--split %s: %w; deploy it first", arm.Deployment, err)
				}
			}
			if shadow != "" {
				if _, err := w.Store.Deployment(cmd.Context(), shadow); err != nil {
					return fmt.Errorf("--shadow %s: %w; deploy it first", shadow, err)
				}
				d.Shadow = shadow
			}
			d, err = w.Store.SaveDeployment(cmd.Context(), d)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "deployed %s v%d: %s (model %s, prompt %s)\n", d.Name, d.Version, c.ID, c.Model, c.Variant.Name)
			if quality != nil {
				fmt.Fprintf(out, "measured quality: %.1f%% on the test split\n", 100**quality)
			}
			for _, arm := range d.Split {
				fmt.Fprintf(out, "split: %.0f%% of calls go to %s\n", 100*arm.Weight, arm.Deployment)
			}
			if d.Shadow != "" {
				fmt.Fprintf(out, "shadow: every call is copied to %s\n", d.Shadow)
			}
			fmt.Fprintf(out, "serve it with `tunelab serve`; clients call model %q\n", d.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&candidate, "candidate", "", "the candidate id to deploy")
	f.StringVar(&verdict, "from-verdict", "", "deploy the pick of this verdict.json (e.g. ladder/verdict.json)")
	f.Lookup("from-verdict").NoOptDefVal = "ladder/verdict.json"
	f.StringArrayVar(&split, "split", nil, "DEPLOYMENT=SHARE: send SHARE (0-1) of calls to another deployment (repeatable)")
	f.StringVar(&shadow, "shadow", "", "copy every call to this deployment, keeping its answers as shadow traces")
	f.StringVar(&storeDSN, "store", "", "store DSN (default: the config's)")
	cmd.AddCommand(newDeployListCmd(&storeDSN), newDeployRmCmd(&storeDSN))
	return cmd
}

// checkName keeps deployment names to what a client can type as a model.
// (list and rm reach their subcommands, so they cannot name a deployment.)
func checkName(name string) error {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return fmt.Errorf("deployment name %q: use letters, digits and - _ . : only", name)
		}
	}
	if name == "" || len(name) > 100 {
		return fmt.Errorf("deployment name %q: 1 to 100 characters", name)
	}
	return nil
}

func parseSplit(specs []string) ([]lab.Arm, error) {
	var out []lab.Arm
	total := 0.0
	for _, s := range specs {
		name, share, ok := strings.Cut(s, "=")
		w, err := strconv.ParseFloat(share, 64)
		if !ok || name == "" || err != nil || w <= 0 || w >= 1 {
			return nil, fmt.Errorf("--split %q: want DEPLOYMENT=SHARE with SHARE between 0 and 1, e.g. challenger=0.2", s)
		}
		total += w
		out = append(out, lab.Arm{Deployment: name, Weight: w})
	}
	if total >= 1 {
		return nil, fmt.Errorf("--split shares add up to %.2f; they must leave some traffic for the deployment itself", total)
	}
	return out, nil
}

func verdictPick(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--from-verdict: %w (run `tunelab ladder` first)", err)
	}
	var v struct {
		Pick string `json:"pick"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("--from-verdict %s: %w", path, err)
	}
	if v.Pick == "" {
		return "", fmt.Errorf("--from-verdict %s: the verdict picked no candidate (none met the constraints); deploy one with --candidate", path)
	}
	return v.Pick, nil
}

func newDeployListCmd(storeDSN *string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List deployments (newest version of each)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := openLab(cmd, *storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			deps, err := w.Store.Deployments(cmd.Context())
			if err != nil {
				return err
			}
			if len(deps) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no deployments yet: `tunelab deploy NAME --candidate ID`")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tCANDIDATE\tMODEL\tQUALITY\tROUTING\tDEPLOYED")
			for _, d := range deps {
				q := "-"
				if d.Quality != nil {
					q = fmt.Sprintf("%.1f%%", 100**d.Quality)
				}
				var routing []string
				for _, a := range d.Split {
					routing = append(routing, fmt.Sprintf("%.0f%%→%s", 100*a.Weight, a.Deployment))
				}
				if d.Shadow != "" {
					routing = append(routing, "shadow→"+d.Shadow)
				}
				if len(routing) == 0 {
					routing = []string{"-"}
				}
				fmt.Fprintf(tw, "%s\tv%d\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Version, d.Candidate.ID, d.Candidate.Model, q,
					strings.Join(routing, " "), d.CreatedAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
}

func newDeployRmCmd(storeDSN *string) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a deployment (its traces stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := openLab(cmd, *storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			if err := w.Store.DeleteDeployment(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, lab.ErrNotFound) {
					return fmt.Errorf("no deployment %q (see `tunelab deploy list`)", args[0])
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s; a running server stops answering it within seconds\n", args[0])
			return nil
		},
	}
}

func newKeysCmd() *cobra.Command {
	var storeDSN string
	cmd := &cobra.Command{Use: "keys", Short: "Make, list and revoke the gateway's API keys"}
	cmd.PersistentFlags().StringVar(&storeDSN, "store", "", "store DSN (default: the config's)")
	var deployments []string
	var rpm int
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Make a key; its secret is printed once and only its hash is kept",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rpm < 0 {
				return fmt.Errorf("--rpm %d: want calls per minute, 0 for no limit", rpm)
			}
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			secret, k := server.NewKey(args[0], deployments, rpm, time.Now())
			if err := w.Store.SaveKey(cmd.Context(), k); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "key %s (%s) made; its secret, shown only now:\n%s\n", k.ID, k.Name, secret)
			fmt.Fprintln(out, "clients send it as Authorization: Bearer <secret> (OPENAI_API_KEY for OpenAI SDKs)")
			return nil
		},
	}
	create.Flags().StringSliceVar(&deployments, "deployment", nil, "deployments the key may call (repeatable; default all)")
	create.Flags().IntVar(&rpm, "rpm", 0, "calls per minute allowed (0: no limit)")
	list := &cobra.Command{
		Use: "list", Short: "List keys (never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			keys, err := w.Store.Keys(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tDEPLOYMENTS\tRPM\tCREATED\tSTATUS")
			for _, k := range keys {
				scope, status := "all", "active"
				if len(k.Deployments) > 0 {
					scope = strings.Join(k.Deployments, ",")
				}
				if k.RevokedAt != nil {
					status = "revoked " + k.RevokedAt.Local().Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", k.ID, k.Name, scope, k.RPM, k.CreatedAt.Local().Format(time.DateTime), status)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a key; a running server refuses it within seconds", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			if err := w.Store.RevokeKey(cmd.Context(), args[0], time.Now()); err != nil {
				if errors.Is(err, lab.ErrNotFound) {
					return fmt.Errorf("no key %q (see `tunelab keys list`)", args[0])
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
