import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../../src/config/dotenv.js';

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => Object.fromEntries(parseDotenv(text, env));

describe('the .env file, as python-dotenv reads it', () => {
  it('reads KEY=VALUE lines, export, spaces around =, comments and blank lines', () => {
    const text = [
      '# the controller',
      '',
      'CTRL_DB_PATH=sqlite:////data/sql.db',
      'export CTRL_DATA_PATH=/data',
      '  SPACED = value with spaces   ',
      'INLINE=abc # a comment',
      'HASH=a#b',
      'LEADING= #x',
      'EMPTY=',
      'NO_VALUE',
      'not an entry',
    ].join('\n');
    expect(parse(text)).toEqual({
      CTRL_DB_PATH: 'sqlite:////data/sql.db',
      CTRL_DATA_PATH: '/data',
      SPACED: 'value with spaces',
      INLINE: 'abc',
      HASH: 'a#b',
      LEADING: '#x',
      EMPTY: '',
    });
  });

  it('reads quoted values: single quotes as written, double quotes with escapes, comments after them', () => {
    const text = [
      `SINGLE='postgresql://u:p#w d@h/db' # comment`,
      `DOUBLE="line\\tone\\n\\"two\\" \\\\ end"`,
      `SQ_ESC='it\\'s'`,
      `MULTI="first`,
      `second"`,
      `AFTER=ok`,
    ].join('\r\n');
    expect(parse(text)).toEqual({
      SINGLE: 'postgresql://u:p#w d@h/db',
      DOUBLE: 'line\tone\n"two" \\ end',
      SQ_ESC: "it's",
      MULTI: 'first\nsecond',
      AFTER: 'ok',
    });
  });

  it('leaves out an entry it cannot read (an unclosed quote, text after the closing quote)', () => {
    expect(parse(`BAD="open\nGOOD=1`)).toEqual({ GOOD: '1' });
    expect(parse(`BAD='x' y\nGOOD=1`)).toEqual({ GOOD: '1' });
  });

  it('fills in ${NAME} and ${NAME:-default}, the environment before the file', () => {
    const text = ['USER_=ctrl', 'PW=from-file', 'URL=mysql://${USER_}:${PW}@${HOST:-localhost}/${DB}'].join('\n');
    expect(parse(text, { PW: 'from-env' }).URL).toBe('mysql://ctrl:from-env@localhost/');
    expect(parse('A=${X:-d}', { X: '' }).A).toBe('');
    expect(parse("U=ctrl\nS='${U}'").S).toBe('ctrl');
  });

  it('keeps the last of a repeated key; a byte-order mark belongs to the first key, as in Python', () => {
    expect(parse('K=0\nK=2')).toEqual({ K: '2' });
    expect(parse('\uFEFFK=1')).toEqual({ '\uFEFFK': '1' });
  });
});
