// PURE. The dashboard's keyboard: (state, key, what is on screen) -> next state and maybe an
// action for the container to perform through the client.
import type { DatasetRow, NodeRow } from './view-model.js';

export type Mode =
  | { readonly kind: 'list' }
  | { readonly kind: 'detail'; readonly datasetId: string }
  | { readonly kind: 'move'; readonly datasetId: string; readonly choice: number }
  | { readonly kind: 'confirm-delete'; readonly datasetId: string }
  | { readonly kind: 'filter' };

export interface UiState {
  readonly mode: Mode;
  /** Follows the dataset, not the row number, so updates never move the cursor elsewhere. */
  readonly selectedId?: string;
  /** Applied as it is typed: filter mode edits it in place. */
  readonly filter: string;
}

export const INITIAL_UI: UiState = { mode: { kind: 'list' }, filter: '' };

/** The subset of Ink's Key we read. */
export interface KeyPress {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly ctrl?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
}

export type UiAction =
  | { readonly kind: 'quit' }
  | { readonly kind: 'move'; readonly datasetId: string; readonly node: string }
  | { readonly kind: 'delete'; readonly datasetId: string };

export interface Visible {
  readonly datasets: readonly DatasetRow[];
  readonly nodes: readonly NodeRow[];
  readonly page: number;
}

export interface KeyResult {
  readonly state: UiState;
  readonly action?: UiAction;
}

/** The nodes a dataset may be moved to: every node but the one it is meant to be on. */
export function moveTargets(v: Visible, datasetId: string): readonly NodeRow[] {
  const row = v.datasets.find((d) => d.id === datasetId);
  return v.nodes.filter((n) => n.uuid !== row?.desired);
}

export function selectedIndex(s: UiState, rows: readonly DatasetRow[]): number {
  if (rows.length === 0) return -1;
  const i = rows.findIndex((r) => r.id === s.selectedId);
  return i >= 0 ? i : 0;
}

export function onKey(s: UiState, input: string, key: KeyPress, v: Visible): KeyResult {
  const m = s.mode;
  switch (m.kind) {
    case 'filter': {
      if (key.escape) return { state: { ...s, mode: { kind: 'list' }, filter: '' } };
      if (key.return) return { state: { ...s, mode: { kind: 'list' } } };
      if (key.backspace || key.delete) return { state: { ...s, filter: s.filter.slice(0, -1) } };
      if (input && !key.ctrl && !key.upArrow && !key.downArrow) return { state: { ...s, filter: s.filter + input } };
      return { state: s };
    }
    case 'confirm-delete':
      if (input === 'y' || input === 'Y') return { state: { ...s, mode: { kind: 'list' } }, action: { kind: 'delete', datasetId: m.datasetId } };
      if (input === 'q') return { state: s, action: { kind: 'quit' } };
      return { state: { ...s, mode: { kind: 'list' } } };
    case 'move': {
      const targets = moveTargets(v, m.datasetId);
      if (key.escape) return { state: { ...s, mode: { kind: 'list' } } };
      if (input === 'q') return { state: s, action: { kind: 'quit' } };
      if (key.upArrow || input === 'k') return { state: { ...s, mode: { ...m, choice: Math.max(0, m.choice - 1) } } };
      if (key.downArrow || input === 'j') return { state: { ...s, mode: { ...m, choice: Math.min(targets.length - 1, m.choice + 1) } } };
      if (key.return) {
        const target = targets[m.choice];
        if (!target) return { state: { ...s, mode: { kind: 'list' } } };
        return { state: { ...s, mode: { kind: 'list' } }, action: { kind: 'move', datasetId: m.datasetId, node: target.uuid } };
      }
      return { state: s };
    }
    case 'detail':
      if (input === 'q') return { state: s, action: { kind: 'quit' } };
      if (key.escape || key.return || key.backspace || key.delete) return { state: { ...s, mode: { kind: 'list' } } };
      if (input === 'm' || input === 'd') return onKey({ ...s, mode: { kind: 'list' }, selectedId: m.datasetId }, input, key, v);
      return { state: s };
    case 'list':
      return onListKey(s, input, key, v);
  }
}

function onListKey(s: UiState, input: string, key: KeyPress, v: Visible): KeyResult {
  const rows = v.datasets;
  const i = selectedIndex(s, rows);
  const current = rows[i];
  const select = (n: number): KeyResult => {
    const row = rows[Math.max(0, Math.min(rows.length - 1, n))];
    return { state: row ? { ...s, selectedId: row.id } : s };
  };
  if (input === 'q') return { state: s, action: { kind: 'quit' } };
  if (key.upArrow || input === 'k') return select(i - 1);
  if (key.downArrow || input === 'j') return select(i + 1);
  if (key.pageUp) return select(i - v.page);
  if (key.pageDown) return select(i + v.page);
  if (input === 'g') return select(0);
  if (input === 'G') return select(rows.length - 1);
  if (input === '/') return { state: { ...s, mode: { kind: 'filter' } } };
  if (key.escape) return { state: { ...s, filter: '' } };
  if (!current) return { state: s };
  if (key.return) return { state: { ...s, selectedId: current.id, mode: { kind: 'detail', datasetId: current.id } } };
  if (input === 'm' && !current.deleted) return { state: { ...s, selectedId: current.id, mode: { kind: 'move', datasetId: current.id, choice: 0 } } };
  if (input === 'd' && !current.deleted) return { state: { ...s, selectedId: current.id, mode: { kind: 'confirm-delete', datasetId: current.id } } };
  return { state: s };
}
