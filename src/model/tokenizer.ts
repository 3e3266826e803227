import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { readUtf8File } from '../util/text-file.ts';
import { ChatTemplate, ChatTemplateLimitError } from './chat-template.ts';
import { checkTokenizerJson, tokenizerConfigProblem } from './tokenizer-json.ts';

export class TokenizerError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'TokenizerError';
  }
}

export interface ChatMessage {
  role: string;
  content: string;
}

/** The largest tokenizer.json published (Gemma's) is ~34 MB; tokenizer_config.json files are far smaller. */
const MAX_TOKENIZER_BYTES = 128 * 2 ** 20;
const MAX_TOKENIZER_CONFIG_BYTES = 16 * 2 ** 20;

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object. */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/**
 * Encodings already made, per tokenizer definition (its digest): one job encodes the same texts many times — the
 * main job's three unlearning runs each read the 3,600 retain items, every evaluated model the same questions — and
 * the JS tokenizer is slow (a tenth of `npm start`'s CPU before this cache). Bounded: cleared when full.
 */
const ENCODED = new Map<string, Map<string, readonly number[]>>();
const MAX_ENCODED = 200_000;

/**
 * A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) through @huggingface/tokenizers, with the
 * model's special tokens and its chat template when it has one. Both files are untrusted: their structure, ids and
 * regexes are checked first (src/model/tokenizer-json.ts) and library errors are reported against the file.
 */
export class Tokenizer {
  private readonly hf: HFTokenizer;
  private readonly config: Record<string, unknown>;
  private readonly chatTemplate: ChatTemplate | null;
  private readonly where: string;
  private readonly configWhere: string;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  /** Number of ids the tokenizer can produce (largest vocabulary or added-token id + 1). */
  readonly vocabSize: number;
  /**
   * Whether decode applies the old "clean up tokenization spaces" pass (" ," → ","). transformers (v5) never does
   * for BPE models, whatever the config says, and defaults it off for the rest; the JS library would apply it when
   * the config says true or says nothing. Lethe decodes as transformers does (checked by the golden fixtures).
   */
  private readonly cleanUp: boolean;

  /** What the tokenizer was made from, for `digest`. */
  private readonly source: { tokenizerJson: unknown; config: Record<string, unknown> };
  private digestHex: string | null = null;

  constructor(tokenizerJson: unknown, config: Record<string, unknown> = {}, where = 'tokenizer.json', configWhere = 'tokenizer_config.json') {
    this.source = { tokenizerJson, config };
    this.where = where;
    this.configWhere = configWhere;
    const checked = checkTokenizerJson(tokenizerJson);
    if ('problem' in checked) throw new TokenizerError(where, checked.problem);
    const configProblem = tokenizerConfigProblem(config);
    if (configProblem) throw new TokenizerError(configWhere, configProblem);
    this.vocabSize = checked.vocabSize;
    try {
      this.hf = new HFTokenizer(tokenizerJson as object, config);
    } catch (err) {
      throw new TokenizerError(where, `cannot build the tokenizer (${(err as Error).message})`);
    }
    this.config = config;
    this.cleanUp = (tokenizerJson as { model?: { type?: string } }).model?.type !== 'BPE' && config['clean_up_tokenization_spaces'] === true;
    this.bosToken = tokenText(config['bos_token']);
    this.eosToken = tokenText(config['eos_token']);
    this.padToken = tokenText(config['pad_token']);
    const template = config['chat_template'];
    try {
      this.chatTemplate = typeof template === 'string' ? new ChatTemplate(template) : null;
    } catch (err) {
      throw new TokenizerError(configWhere, `"chat_template" is not a valid Jinja template (${(err as Error).message})`);
    }
  }

  /** Loads tokenizer.json (required) and tokenizer_config.json (optional) from a model folder. */
  /** SHA-256 of the tokenizer's definition (tokenizer.json and tokenizer_config.json as parsed): same digest, same encoding. */
  get digest(): string {
    this.digestHex ??= createHash('sha256').update(JSON.stringify(this.source)).digest('hex');
    return this.digestHex;
  }

  static fromDir(dir: string): Tokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path)) throw new TokenizerError(dir, 'no tokenizer.json in this folder');
    const readJson = (p: string, maxBytes: number): unknown => {
      const text = readUtf8File(p, maxBytes, (problem) => new TokenizerError(p, problem));
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new TokenizerError(p, `not valid JSON (${(err as Error).message})`);
      }
    };
    const configPath = join(dir, 'tokenizer_config.json');
    const config = existsSync(configPath) ? readJson(configPath, MAX_TOKENIZER_CONFIG_BYTES) : {};
    return new Tokenizer(readJson(path, MAX_TOKENIZER_BYTES), config as Record<string, unknown>, path, configPath);
  }

  /** The shared encodings of this definition; none when the definition cannot be digested (nested too deep to serialise). */
  private encodeCache(): Map<string, readonly number[]> | null {
    if (this.encoded !== undefined) return this.encoded;
    try {
      const digest = this.digest;
      this.encoded = ENCODED.get(digest) ?? new Map();
      ENCODED.set(digest, this.encoded);
    } catch {
      // Tried once: a definition that cannot be serialised is not retried on every encode.
      this.encoded = null;
    }
    return this.encoded;
  }

  private encoded: Map<string, readonly number[]> | null | undefined;

  /** Token ids of text; special tokens (e.g. BOS) are added as the tokenizer's post-processor says. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    const addSpecial = options.addSpecialTokens ?? true;
    const key = `${addSpecial ? 1 : 0}${text}`;
    const cache = this.encodeCache();
    const known = cache?.get(key);
    // A copy: callers may change the array they get.
    if (known) return known.slice();
    let ids: number[];
    try {
      ids = this.hf.encode(text, { add_special_tokens: addSpecial }).ids;
    } catch (err) {
      throw new TokenizerError(this.where, `cannot encode text (${(err as Error).message})`);
    }
    // The library yields `undefined` for a piece no token covers when the vocabulary lacks the unk_token.
    const bad = ids.findIndex((id) => !Number.isInteger(id));
    if (bad >= 0) throw new TokenizerError(this.where, `no token covers piece ${bad} of the text, and "model.unk_token" names no token in the vocabulary`);
    if (cache) {
      if (cache.size >= MAX_ENCODED) cache.clear();
      cache.set(key, ids.slice());
    }
    return ids;
  }

  /** Text of token ids; no ids decode to the empty string. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    try {
      return this.hf.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: this.cleanUp });
    } catch (err) {
      throw new TokenizerError(this.where, `cannot decode ids (${(err as Error).message})`);
    }
  }

  tokenToId(token: string): number | null {
    return this.hf.token_to_id(token) ?? null;
  }

  get bosId(): number | null {
    return this.bosToken === null ? null : this.tokenToId(this.bosToken);
  }

  get eosId(): number | null {
    return this.eosToken === null ? null : this.tokenToId(this.eosToken);
  }

  /** Pad id: the pad token, else EOS (the usual choice for decoder-only models). */
  get padId(): number | null {
    return (this.padToken === null ? null : this.tokenToId(this.padToken)) ?? this.eosId;
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== null;
  }

  /**
   * Renders messages with the model's chat template (as transformers' apply_chat_template with tokenize=False),
   * under the work budget of src/model/chat-template.ts.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    if (!this.chatTemplate) throw new TokenizerError(this.configWhere, 'this tokenizer has no chat_template');
    try {
      return this.chatTemplate.render({
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? false,
        bos_token: this.bosToken ?? '',
        eos_token: this.eosToken ?? '',
        pad_token: this.padToken ?? '',
        unk_token: tokenText(this.config['unk_token']) ?? '',
      });
    } catch (err) {
      const what = err instanceof ChatTemplateLimitError ? 'stopped' : 'failed';
      throw new TokenizerError(this.configWhere, `"chat_template" ${what}: ${(err as Error).message}`);
    }
  }
}
