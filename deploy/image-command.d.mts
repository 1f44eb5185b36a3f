/** The command the image runs (deploy/Dockerfile's ENTRYPOINT and ENV), over a layout assembled elsewhere. */
export function imageCommand(
  layout: string,
  node: string,
): { command: string; args: string[]; env: Record<string, string> };

/** The migration job's command in the image, as `gcloud run jobs deploy --command --args` sets it. */
export const migrationJob: readonly string[];

/** The migration job's command, over a layout assembled elsewhere. */
export function migrationJobCommand(layout: string, node: string): { command: string; args: string[] };
