/**
 * Running an agent through a container engine (docker or podman) when its
 * binary is not installed on the host, or when the agent is `container_only`.
 * The run's working directory is mounted at the same path, the environment
 * is passed by name (`-e NAME`, values come from the engine process's own
 * environment, so they never appear in a command line), and the agent gets
 * the same argument list it would get on the host.
 */
export interface ContainerSpec {
  engine: 'docker' | 'podman';
  image: string;
  args: string[];
}

export function containerCommand(
  spec: ContainerSpec,
  run: { workdir: string; command: string; args: string[]; envNames: string[]; interactive: boolean },
): { binary: string; args: string[] } {
  return {
    binary: spec.engine,
    args: [
      'run',
      '--rm',
      '--init',
      ...(run.interactive ? ['-i'] : []),
      '-v',
      `${run.workdir}:${run.workdir}`,
      '-w',
      run.workdir,
      ...run.envNames.flatMap((n) => ['-e', n]),
      ...spec.args,
      spec.image,
      run.command,
      ...run.args,
    ],
  };
}
