/**
 * The tools an agent uses to talk back while it runs, with the task token
 * the daemon put in its environment (SWITCHYARD_URL, SWITCHYARD_TOKEN,
 * SWITCHYARD_TASK_ID): `switchyard ask` (the task becomes blocked when the
 * run ends; the answer resumes its session), `switchyard progress`, and the
 * same two as an MCP server (`switchyard mcp`, stdio) for CLIs that speak MCP.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { SwitchyardClient } from '../../client/index.js';
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';

function agentClient(env: NodeJS.ProcessEnv = process.env): { client: SwitchyardClient; taskId: string } {
  const url = env.SWITCHYARD_URL;
  const token = env.SWITCHYARD_TOKEN;
  const taskId = env.SWITCHYARD_TASK_ID;
  if (!url || !token || !taskId) {
    throw new UsageError('this command is for agents run by switchyard: SWITCHYARD_URL, SWITCHYARD_TOKEN and SWITCHYARD_TASK_ID must be set (the daemon sets them)');
  }
  return { client: new SwitchyardClient({ url, token }), taskId };
}

export function registerAgentTools(program: Command): void {
  program
    .command('ask <question>')
    .description('(for agents) ask the user a question; the task pauses when this run ends and resumes with the answer')
    .action(async (question: string) => {
      const { client, taskId } = agentClient();
      await client.agent.ask(taskId, question);
      process.stdout.write('Question recorded. End your turn now; you will be resumed with the answer.\n');
    });

  program
    .command('progress <message>')
    .description('(for agents) report progress on the current task')
    .action(async (message: string) => {
      const { client, taskId } = agentClient();
      await client.agent.progress(taskId, message);
      process.stdout.write('Progress recorded.\n');
    });

  program
    .command('mcp')
    .description('(for agents) an MCP server on stdio offering ask_user and report_progress for the current task')
    .action(async () => {
      const { client, taskId } = agentClient();
      const [{ McpServer }, { StdioServerTransport }] = await Promise.all([import('@modelcontextprotocol/sdk/server/mcp.js'), import('@modelcontextprotocol/sdk/server/stdio.js')]);
      const server = new McpServer({ name: 'switchyard', version: VERSION });
      server.registerTool(
        'ask_user',
        {
          description: 'Ask the user a question you need answered to finish the task. The task pauses when your turn ends; you are resumed with the answer.',
          inputSchema: { question: z.string().min(1).describe('The question, with the context the user needs to answer it') },
        },
        async ({ question }) => {
          await client.agent.ask(taskId, question);
          return { content: [{ type: 'text', text: 'Question recorded. End your turn now; you will be resumed with the answer.' }] };
        },
      );
      server.registerTool(
        'report_progress',
        { description: 'Report a milestone or progress note on the current task.', inputSchema: { message: z.string().min(1) } },
        async ({ message }) => {
          await client.agent.progress(taskId, message);
          return { content: [{ type: 'text', text: 'Progress recorded.' }] };
        },
      );
      await server.connect(new StdioServerTransport());
      // Served until the agent closes stdin.
      await new Promise<void>((resolve) => process.stdin.once('close', () => resolve()));
    });
}
