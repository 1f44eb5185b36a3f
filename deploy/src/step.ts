/**
 * One step of a deploy: a gcloud command, or for "ensure" steps a check
 * whose failure (the thing is missing) runs the command that makes it.
 * Re-running a plan is safe: every step either checks first or is
 * idempotent in gcloud itself (deploys, policy bindings, enabling APIs).
 */
export interface Step {
  title: string;
  run: string[];
  /** Runs first; when it succeeds the step is already done and `run` is skipped. */
  unless?: string[];
  /** What `run` reads on its standard input: a file written with `gcloud storage cp -`, shown in full by a dry run. */
  stdin?: string;
  /** `run` prints this service's URL; the runner reads the project's cloud hash off it. */
  learnsHashFrom?: string;
  /** `run` prints one value, which takes this placeholder's place in the steps after it. */
  learns?: string;
  /** `run` prints this service's IAM policy; the runner compares its invokers with `declared`. */
  checksInvokersOf?: { service: string; declared: string[] };
  /** `run` lists names, one a line; the runner reports those that `declared` does not hold. */
  listsUndeclared?: { kind: 'instance' | 'database'; instance?: string; declared: string[] };
  /** `run` only looks: when what it names does not exist, the deploy stops, saying how to make it. */
  requires?: { what: string; create: string };
  /** What the deploy says after gcloud's error when `run` fails: what it means, and where to look. */
  onFailure?: string;
}

/**
 * Stands in a command for the cloud hash until the runner knows it: from
 * CLOUD_RUN_PROJECT_HASH, else from the URL of the first service deployed.
 */
export const hashPlaceholder = '<cloud hash>';
