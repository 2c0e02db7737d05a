import { crashSuite } from '../support/crash.js';

crashSuite('sqlite');
