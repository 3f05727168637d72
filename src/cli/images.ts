/**
 * `ordinal images import FILE | ls | rm REF... | pull REF [--insecure-registry HOST]...`
 * against the node's content store in `<dataDir>/images`.
 */
import { parseArgs } from 'node:util';
import { ImageError, ImageService } from '../agent/images/index.js';

export interface ImagesIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: ImagesIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export const IMAGES_USAGE = `Usage: ordinal images <command> [--data-dir DIR]

Commands:
  import FILE   Import an OCI image layout or docker save tarball
  ls            List images (like crictl images)
  rm REF...     Remove images and garbage-collect their blobs
  pull REF      Pull from a registry (http for loopback registries and any
                --insecure-registry HOST[:PORT], https otherwise)
`;

/** go-units HumanSize: 4 significant digits, decimal units ("1.23MB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${units[i]}`;
}

/** Left-aligned columns like Go's tabwriter(minwidth 20, padding 3), as crictl prints. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, Math.max(20, c.length + 3));
    });
  }
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('')
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join('');
}

export async function runImagesCommand(
  argv: string[],
  dataDir: string,
  io: ImagesIo = defaultIo,
): Promise<number> {
  const [sub, ...rest] = argv;
  let parsed: { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { 'insecure-registry': { type: 'string', multiple: true } },
    });
  } catch (e) {
    io.err(`error: ${(e as Error).message}\n${IMAGES_USAGE}`);
    return 2;
  }
  const args = parsed.positionals;
  const images = ImageService.forDataDir(dataDir);
  try {
    switch (sub) {
      case 'import': {
        if (args.length !== 1) break;
        const imported = await images.importArchive(args[0] as string);
        for (const img of imported) {
          const names = img.names.length > 0 ? img.names.join(', ') : '(no name)';
          io.out(`unpacking ${names} (${img.target.digest})...done\n`);
        }
        return 0;
      }
      case 'ls':
      case 'list': {
        if (args.length !== 0) break;
        const rows = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
        for (const img of await images.list()) {
          const id = img.id.replace(/^sha256:/, '').slice(0, 13);
          rows.push([img.repository, img.tag ?? '<none>', id, humanSize(img.size)]);
        }
        io.out(formatTable(rows));
        return 0;
      }
      case 'rm':
      case 'rmi': {
        if (args.length === 0) break;
        let code = 0;
        for (const ref of args) {
          try {
            for (const name of await images.remove(ref)) io.out(`Deleted: ${name}\n`);
          } catch (e) {
            if (!(e instanceof ImageError)) throw e;
            io.err(`error: ${e.message}\n`);
            code = 1;
          }
        }
        return code;
      }
      case 'pull': {
        if (args.length !== 1) break;
        const insecure = parsed.values['insecure-registry'];
        const image = await images.pull(args[0] as string, {
          insecureHosts: Array.isArray(insecure) ? insecure : [],
        });
        io.out(`Image is up to date for ${image.configDigest}\n`);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
        io.out(IMAGES_USAGE);
        return 0;
      default:
        io.err(`error: unknown images command "${sub}"\n${IMAGES_USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ImageError) {
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  io.err(`error: wrong number of arguments for "images ${sub}"\n${IMAGES_USAGE}`);
  return 2;
}
