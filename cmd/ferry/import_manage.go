package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferry-import/ferry/cliclient"
)

func kindOf(kind string) (string, error) {
	switch kind {
	case "project", "migration":
		return kind, nil
	}
	return "", usagef("--kind %q: want project (a project's import, by project id) or migration (a GitLab migration, by its id)", kind)
}

func (o *importOpts) newStatus() *cobra.Command {
	var watch bool
	var kind string
	cmd := &cobra.Command{
		Use:   "status ID [--watch] [--kind project|migration]",
		Short: "Show an import (a project's, or a GitLab migration's), or watch it to its end",
		Args:  cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			id, kind, c, err := o.idClient(args, "status", kind)
			if err != nil {
				return err
			}
			if watch {
				r := o.renderer()
				res, err := o.watch(cmd.Context(), c, kind, id, r)
				r.close()
				if err != nil {
					return err
				}
				return o.finish(res)
			}
			res, err := poll(cmd.Context(), c, kind, id, nil)
			if err != nil {
				return err
			}
			if res.done() {
				return o.finish(res)
			}
			if o.json {
				if err := writeJSON(o.stdout, res.jsonValue()); err != nil {
					return err
				}
			} else {
				newLines(o.stdout).show(res)
			}
			return exitError{exitRunning}
		}),
	}
	cmd.Flags().BoolVar(&watch, "watch", false, "follow the import with live progress until it ends")
	cmd.Flags().StringVar(&kind, "kind", "project", "project (ID is a project id) or migration (ID is a GitLab migration's id)")
	return cmd
}

func (o *importOpts) newList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the projects you imported and your GitLab migrations",
		Args:  cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("list takes no argument")
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			projects, err := c.ImportedProjects(cmd.Context())
			if err != nil {
				return err
			}
			migrations, err := c.BulkImports(cmd.Context())
			if err != nil {
				var fe *cliclient.Error
				if !asError(err, &fe) || fe.Status != 404 {
					return err
				}
				migrations = nil // migrations are off on this ferry
			}
			if o.json {
				if projects == nil {
					projects = []cliclient.Project{}
				}
				ms := make([]any, 0, len(migrations))
				for _, m := range migrations {
					ms = append(ms, m)
				}
				return writeJSON(o.stdout, map[string]any{"projects": projects, "migrations": ms})
			}
			tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tID\tSOURCE\tSTATUS\tTARGET / SOURCE URL\tCREATED")
			for _, p := range projects {
				typ := ""
				if p.ImportType != nil {
					typ = *p.ImportType
				}
				fmt.Fprintf(tw, "project\t%d\t%s\t%s\t%s\t%s\n", p.ID, typ, p.ImportStatus, p.PathWithNamespace, p.CreatedAt)
			}
			for _, m := range migrations {
				fmt.Fprintf(tw, "migration\t%d\t%s\t%s\t%s\t%s\n", m.ID, m.SourceType, m.Status, m.SourceURL, m.CreatedAt)
			}
			return tw.Flush()
		}),
	}
}

func (o *importOpts) newCancel() *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "cancel ID [--kind project|migration]",
		Short: "Cancel an import that has not ended",
		Args:  cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			id, kind, c, err := o.idClient(args, "cancel", kind)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if kind == "migration" {
				if err := c.CancelBulkImport(ctx, id); err != nil {
					return err
				}
				fmt.Fprintf(o.stdout, "canceled migration %d\n", id)
				return nil
			}
			st, err := c.ProjectImportStatus(ctx, id)
			if err != nil {
				return err
			}
			typ := ""
			if st.ImportType != nil {
				typ = *st.ImportType
			}
			if err := c.CancelProjectImport(ctx, id, typ); err != nil {
				return err
			}
			fmt.Fprintf(o.stdout, "canceled the import of project %d (%s)\n", id, st.PathWithNamespace)
			return nil
		}),
	}
	cmd.Flags().StringVar(&kind, "kind", "project", "project (ID is a project id) or migration (ID is a GitLab migration's id)")
	return cmd
}
