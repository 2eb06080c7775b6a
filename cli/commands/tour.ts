import { type Command, parseFlags } from '../command';
import { protocolTour } from '../tour';

export const command: Command = {
  name: 'tour',
  summary: 'A narrated run of the protocol on the reference backend (npm start)',
  usage: 'tessera tour',
  async run(argv) {
    parseFlags(argv, {});
    const steps = await protocolTour();
    console.log(`\nThe story took ${steps} operations, each checked by the formal model.`);
    return 0;
  },
};
