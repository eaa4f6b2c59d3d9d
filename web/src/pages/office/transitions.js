// The transition table of DOMAIN.md section 3 (src/appeals/workflow.rs),
// used only to offer the moves a role could make; the server decides.
const OP = 'operator';
const ASSIGNED = 'assigned';
const EITHER = 'either';

const TABLE = [
  [['submitted'], 'registered', OP],
  [['submitted'], 'spam', OP],
  [['submitted'], 'duplicate', OP],
  [['registered'], 'forwarded', OP],
  [['registered'], 'in_progress', EITHER],
  [['registered', 'in_progress'], 'extended', OP],
  [['in_progress', 'extended'], 'answered', ASSIGNED],
  [['registered', 'in_progress'], 'rejected', OP],
  [['answered'], 'in_progress', OP],
  [['answered', 'forwarded', 'duplicate', 'rejected'], 'closed', OP],
];

export const OPEN = ['registered', 'in_progress', 'extended'];

/** Statuses an appeal in `from` may move to for someone with `roles`. */
export function movesFor(from, roles) {
  const operator = roles.includes('appeals_operator');
  const executor = roles.includes('executor');
  return TABLE.filter(([froms, , by]) => froms.includes(from)
    && (by === OP ? operator : by === ASSIGNED ? executor : operator || executor))
    .map(([, to]) => to);
}
