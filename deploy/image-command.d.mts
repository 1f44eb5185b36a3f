/** The command the image runs (deploy/Dockerfile's ENTRYPOINT and ENV), over a layout assembled elsewhere. */
export function imageCommand(
  layout: string,
  node: string,
): { command: string; args: string[]; env: Record<string, string> };
