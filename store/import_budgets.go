package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ferry-import/ferry"
)

// SetImportBudgets records what an import's job saw of its credentials'
// budgets, replacing the earlier reading of each.
func (tx *Tx) SetImportBudgets(ctx context.Context, importID int64, bs []ferry.ImportBudget) error {
	now := tx.Now()
	for _, b := range bs {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO import_budgets (import_id, credential, kind, budget, remaining, budget_limit, reset_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (import_id, credential, budget) DO UPDATE SET kind = excluded.kind, remaining = excluded.remaining,
			budget_limit = excluded.budget_limit, reset_at = excluded.reset_at, updated_at = excluded.updated_at`,
			importID, b.Credential, b.Kind, b.Budget, b.Remaining, b.Limit, nullTime(b.ResetAt), now); err != nil {
			return fmt.Errorf("record budget %d/%s of import %d: %w", b.Credential, b.Budget, importID, err)
		}
	}
	return nil
}

// ImportBudgets returns an import's last readings, by credential and
// budget.
func (tx *Tx) ImportBudgets(ctx context.Context, importID int64) ([]ferry.ImportBudget, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT credential, kind, budget, remaining, budget_limit, reset_at, updated_at
		FROM import_budgets WHERE import_id = $1 ORDER BY credential, budget`, importID)
	if err != nil {
		return nil, fmt.Errorf("budgets of import %d: %w", importID, err)
	}
	defer rows.Close()
	var out []ferry.ImportBudget
	for rows.Next() {
		var b ferry.ImportBudget
		var reset sql.NullTime
		if err := rows.Scan(&b.Credential, &b.Kind, &b.Budget, &b.Remaining, &b.Limit, &reset, &b.UpdatedAt); err != nil {
			return nil, fmt.Errorf("budgets of import %d: %w", importID, err)
		}
		b.ResetAt, b.UpdatedAt = timePtr(reset), b.UpdatedAt.UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}
